// The cloud Function App (EDGELOOP_ROLE=cloud) on Flex Consumption, Python 3.11, with a
// system-assigned managed identity. The host's own storage is identity-based
// (AzureWebJobsStorage__accountName); the app's connections come in `appSettings` (main.bicep).

@description('Azure region.')
param location string

@description('App Service plan name.')
param planName string

@description('Function App name.')
param appName string

@description('The host storage account (identity-based AzureWebJobsStorage, deployment package).')
param hostStorageAccountName string

@description('Container of the host account holding the deployment package.')
param deploymentContainerName string

@description('Application Insights connection string.')
param appInsightsConnectionString string

@description('Most instances Flex Consumption may run.')
@minValue(1)
@maxValue(1000)
param maximumInstanceCount int

@description('Memory of each instance, in MB.')
@allowed([
  2048
  4096
])
param instanceMemoryMB int

@description('Spread instances over availability zones (regions with zones only).')
param zoneRedundant bool

@description('App settings of the application (name -> value), added to the host settings.')
param appSettings object

@description('Tags for every resource.')
param tags object

resource hostStorage 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: hostStorageAccountName
}

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  // checkov:skip=CKV_AZURE_225:Flex Consumption zone redundancy is set per region where available (param zoneRedundant); checkov cannot resolve the parameter.
  name: planName
  location: location
  tags: tags
  kind: 'functionapp'
  sku: {
    name: 'FC1'
    tier: 'FlexConsumption'
  }
  properties: {
    reserved: true
    zoneRedundant: zoneRedundant
  }
}

// Host-level settings; Flex Consumption takes the worker runtime from functionAppConfig, not
// from FUNCTIONS_WORKER_RUNTIME.
var hostSettings = {
  AzureWebJobsStorage__accountName: hostStorage.name
  APPLICATIONINSIGHTS_CONNECTION_STRING: appInsightsConnectionString
  // Telemetry authenticated with the app's identity (Application Insights has local auth off).
  APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'Authorization=AAD'
}

resource app 'Microsoft.Web/sites@2024-04-01' = {
  // checkov:skip=CKV_AZURE_222:The app serves the global dashboard (function global_app) to users on the internet; the app itself requires Entra ID sign-in or an Entra ID bearer token (GLOBAL_APP_AUTH=entra).
  // checkov:skip=CKV_AZURE_17:Dashboard users authenticate with Entra ID tokens from browsers, which carry no client certificates; mutual TLS would lock them out.
  // checkov:skip=CKV_AZURE_212:Event-driven and scale-to-zero by design: Service Bus holds messages while no instance runs, so no standby instances are paid for.
  // checkov:skip=CKV_AZURE_213:Flex Consumption plans have no App Service health check; the platform replaces failed workers and Application Insights alerts on failures.
  name: appName
  location: location
  tags: tags
  kind: 'functionapp,linux'
  identity: {
    type: 'SystemAssigned'
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    clientCertEnabled: false
    // Key Vault references resolve with the app's system-assigned identity.
    keyVaultReferenceIdentity: 'SystemAssigned'
    siteConfig: {
      minTlsVersion: '1.2'
      ftpsState: 'Disabled'
      http20Enabled: true
      appSettings: [
        for setting in items(union(hostSettings, appSettings)): {
          name: setting.key
          value: setting.value
        }
      ]
    }
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${hostStorage.properties.primaryEndpoints.blob}${deploymentContainerName}'
          authentication: {
            type: 'SystemAssignedIdentity'
          }
        }
      }
      scaleAndConcurrency: {
        maximumInstanceCount: maximumInstanceCount
        instanceMemoryMB: instanceMemoryMB
      }
      runtime: {
        name: 'python'
        version: '3.11'
      }
    }
  }
}

// No FTP or basic-auth deployments: deploy with Entra credentials (az / GitHub OIDC).
resource ftpPolicy 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01' = {
  parent: app
  name: 'ftp'
  properties: {
    allow: false
  }
}

resource scmPolicy 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01' = {
  parent: app
  name: 'scm'
  properties: {
    allow: false
  }
}

output appName string = app.name
output principalId string = app.identity.principalId
output defaultHostName string = app.properties.defaultHostName
