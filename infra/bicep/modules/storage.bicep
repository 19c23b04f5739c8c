// Two storage accounts:
// - the Functions host account (host state, deployment package): identity only, no keys;
// - the data account with the containers of docs/CONTRACTS.md (compliant, anomalies, models,
//   frames: what a site's frames policy lets out)
//   and the queue `retrain-requests`.
//   Sites are outside Azure and have no Entra identity, so they write `compliant` with a
//   container-scoped SAS; that needs shared-key signing on this account (and only this one).

@description('Azure region.')
param location string

@description('Name of the Functions host storage account.')
param hostAccountName string

@description('Name of the data storage account.')
param dataAccountName string

@description('Blob containers of the data account (names: docs/CONTRACTS.md).')
param dataContainers array = [
  'compliant'
  'anomalies'
  'models'
  'frames'
]

@description('Queues of the data account (names: docs/CONTRACTS.md): the retraining requests.')
param dataQueues array = [
  'retrain-requests'
]

@description('Container of the host account that holds the Flex Consumption deployment package.')
param deploymentContainerName string

@description('Replication of the data account (ZRS or GZRS in production).')
@allowed([
  'Standard_LRS'
  'Standard_ZRS'
  'Standard_GRS'
  'Standard_GZRS'
])
param dataSkuName string

@description('Days a deleted blob or container can be restored.')
@minValue(1)
@maxValue(365)
param deleteRetentionDays int

@description('Tags for every resource.')
param tags object

resource hostAccount 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  // checkov:skip=CKV_AZURE_35:The Flex Consumption app reaches its host storage over the public endpoint unless VNet-integrated; shared keys are off, so only the app's identity gets in.
  // checkov:skip=CKV_AZURE_59:Same reason as CKV_AZURE_35 (public endpoint, identity-only access; anonymous blob access is off).
  // checkov:skip=CKV_AZURE_206:Host state (leases, deployment package) is rebuilt by a redeploy; locally redundant is enough.
  // checkov:skip=CKV_AZURE_43:The name is computed in main.bicep as take('st<prefix>fn<uniqueString>', 24): lowercase letters and digits, at most 24.
  name: hostAccountName
  location: location
  tags: tags
  sku: {
    name: 'Standard_LRS'
  }
  kind: 'StorageV2'
  properties: {
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    allowBlobPublicAccess: false
    allowSharedKeyAccess: false
    defaultToOAuthAuthentication: true
    allowCrossTenantReplication: false
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      defaultAction: 'Allow'
      bypass: 'AzureServices'
    }
  }
}

resource hostBlobService 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' = {
  parent: hostAccount
  name: 'default'
  properties: {
    deleteRetentionPolicy: {
      enabled: true
      days: deleteRetentionDays
    }
  }
}

resource deploymentContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: hostBlobService
  name: deploymentContainerName
  properties: {
    publicAccess: 'None'
  }
}

resource dataAccount 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  // checkov:skip=CKV_AZURE_35:Sites write `compliant` from their own networks over the internet (container-scoped SAS); their egress addresses are not known here. Narrow with networkAcls per deployment where they are.
  // checkov:skip=CKV_AZURE_59:Same reason as CKV_AZURE_35; anonymous blob access stays off (allowBlobPublicAccess false).
  // checkov:skip=CKV_AZURE_206:Replication is the dataSkuName parameter (ZRS in prod.bicepparam); checkov cannot resolve it.
  // checkov:skip=CKV_AZURE_43:The name is computed in main.bicep as take('st<prefix>data<uniqueString>', 24): lowercase letters and digits, at most 24.
  name: dataAccountName
  location: location
  tags: tags
  sku: {
    name: dataSkuName
  }
  kind: 'StorageV2'
  properties: {
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    allowBlobPublicAccess: false
    // Needed to sign the sites' SAS (see the header); Azure-side code uses its identity.
    allowSharedKeyAccess: true
    defaultToOAuthAuthentication: true
    allowCrossTenantReplication: false
    publicNetworkAccess: 'Enabled'
    // A SAS handed to a site must expire within a year.
    sasPolicy: {
      sasExpirationPeriod: '365.00:00:00'
      expirationAction: 'Log'
    }
    networkAcls: {
      defaultAction: 'Allow'
      bypass: 'AzureServices'
    }
  }
}

resource dataBlobService 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' = {
  parent: dataAccount
  name: 'default'
  properties: {
    deleteRetentionPolicy: {
      enabled: true
      days: deleteRetentionDays
    }
    containerDeleteRetentionPolicy: {
      enabled: true
      days: deleteRetentionDays
    }
    // Model bundles are replaced by new versions; versioning keeps the previous one.
    isVersioningEnabled: true
  }
}

resource containers 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = [
  for name in dataContainers: {
    parent: dataBlobService
    name: name
    properties: {
      publicAccess: 'None'
    }
  }
]

// The retraining requests (the timer sends, the queue-triggered worker runs them), on the data
// account like the registry they feed: CloudStorage__queueServiceUri.
resource dataQueueService 'Microsoft.Storage/storageAccounts/queueServices@2023-05-01' = {
  parent: dataAccount
  name: 'default'
}

resource queues 'Microsoft.Storage/storageAccounts/queueServices/queues@2023-05-01' = [
  for name in dataQueues: {
    parent: dataQueueService
    name: name
  }
]

output hostAccountName string = hostAccount.name
output hostBlobEndpoint string = hostAccount.properties.primaryEndpoints.blob
output dataAccountName string = dataAccount.name
output dataBlobEndpoint string = dataAccount.properties.primaryEndpoints.blob
output dataContainerNames array = [for (name, i) in dataContainers: containers[i].name]
output dataQueueEndpoint string = dataAccount.properties.primaryEndpoints.queue
output dataQueueNames array = [for (name, i) in dataQueues: queues[i].name]
