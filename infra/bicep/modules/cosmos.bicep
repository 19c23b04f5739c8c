// The global insight store: Cosmos DB for NoSQL, one container partitioned by /site_id
// (edgeloop/adapters/cosmos_store.py keeps every hot query inside one site's partition).
// Keys are disabled: the Function App writes with its identity (sqlRoleAssignments, roles.bicep).

@description('Azure region.')
param location string

@description('Cosmos DB account name.')
param accountName string

@description('Database name.')
param databaseName string

@description('Container name.')
param containerName string

@description('Default time to live of items, in seconds; -1 keeps items until they set their own ttl.')
@minValue(-1)
param defaultTtlSeconds int

@description('Autoscale ceiling of the container, in RU/s (the floor is a tenth of it).')
@minValue(1000)
param maxThroughput int

@description('Zone redundancy of the single write region.')
param zoneRedundant bool

@description('Tags for every resource.')
param tags object

resource account 'Microsoft.DocumentDB/databaseAccounts@2024-05-15' = {
  // checkov:skip=CKV_AZURE_101:Reached by the Flex Consumption app over the public endpoint; keys are disabled (disableLocalAuth), so only Entra identities with a data role get in. Private endpoint: docs/deployment.md "Network hardening".
  // checkov:skip=CKV_AZURE_99:Same reason as CKV_AZURE_101: no IP allow-list because the Function App has no fixed outbound address without VNet integration.
  name: accountName
  location: location
  tags: tags
  kind: 'GlobalDocumentDB'
  properties: {
    databaseAccountOfferType: 'Standard'
    locations: [
      {
        locationName: location
        failoverPriority: 0
        isZoneRedundant: zoneRedundant
      }
    ]
    consistencyPolicy: {
      defaultConsistencyLevel: 'Session'
    }
    disableLocalAuth: true
    disableKeyBasedMetadataWriteAccess: true
    minimalTlsVersion: 'Tls12'
    publicNetworkAccess: 'Enabled'
    backupPolicy: {
      type: 'Continuous'
      continuousModeProperties: {
        tier: 'Continuous7Days'
      }
    }
  }
}

resource database 'Microsoft.DocumentDB/databaseAccounts/sqlDatabases@2024-05-15' = {
  parent: account
  name: databaseName
  properties: {
    resource: {
      id: databaseName
    }
  }
}

resource container 'Microsoft.DocumentDB/databaseAccounts/sqlDatabases/containers@2024-05-15' = {
  parent: database
  name: containerName
  properties: {
    resource: {
      id: containerName
      partitionKey: {
        paths: [
          '/site_id'
        ]
        kind: 'Hash'
        version: 2
      }
      defaultTtl: defaultTtlSeconds
      indexingPolicy: {
        indexingMode: 'consistent'
        automatic: true
        includedPaths: [
          {
            path: '/*'
          }
        ]
        excludedPaths: [
          {
            path: '/"_etag"/?'
          }
        ]
      }
    }
    options: {
      autoscaleSettings: {
        maxThroughput: maxThroughput
      }
    }
  }
}

output accountName string = account.name
output endpoint string = account.properties.documentEndpoint
output databaseName string = database.name
output containerName string = container.name
